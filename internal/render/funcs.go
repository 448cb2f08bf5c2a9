package render

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// defaultLocale is used when neither Data.Locale nor the contact's locale
// is set: relais is built for French mailings first.
const defaultLocale = "fr"

// FuncNames lists the functions templates may call besides text/template's
// builtins. It is the documented, closed set (docs/campaign-format.md):
// none reaches the environment, files or network, and none loops beyond
// the size of its arguments.
var FuncNames = []string{"upper", "lower", "title", "trim", "default", "date", "number", "money", "truncate", "join"}

// funcs returns the function map bound to one locale. Binding at clone
// time (one clone per language) keeps the template calls short
// ({{.Now | date "long"}}) without passing the locale around.
func funcs(tag language.Tag) map[string]any {
	base, _ := tag.Base()
	lang := base.String()
	p := message.NewPrinter(tag)
	caser := cases.Title(tag)
	return map[string]any{
		"upper": func(s string) string { return cases.Upper(tag).String(s) },
		"lower": func(s string) string { return cases.Lower(tag).String(s) },
		"title": func(s string) string { return caser.String(s) },
		"trim":  strings.TrimSpace,
		"default": func(def, v any) any {
			if isEmpty(v) {
				return def
			}
			return v
		},
		"date": func(layout string, v any) (string, error) { return formatDate(lang, layout, v) },
		"number": func(args ...any) (string, error) {
			return formatNumber(p, args)
		},
		"money": func(amount any, cur string, locale ...string) (string, error) {
			if len(locale) > 1 {
				return "", fmt.Errorf("money: at most one locale, got %d", len(locale))
			}
			t, l := tag, lang
			if len(locale) == 1 {
				t = parseTag(locale[0])
				b, _ := t.Base()
				l = b.String()
			}
			return formatMoney(message.NewPrinter(t), l, amount, cur)
		},
		"truncate": truncate,
		tickFunc:   tick,
		"join":     join,
	}
}

// parseTag parses a locale such as "fr", "fr_FR" or "en-GB", falling back
// to the default locale so a bad locale in data never fails a send.
func parseTag(s string) language.Tag {
	t, err := language.Parse(strings.ReplaceAll(s, "_", "-"))
	if err != nil {
		return language.Make(defaultLocale)
	}
	return t
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return rv.IsZero()
}

var (
	frMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	frDays   = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
)

// formatDate formats v (time.Time, *time.Time or an RFC 3339 / YYYY-MM-DD
// string) with a named layout (short, long, full) in the locale's
// conventions, or with a Go layout as time.Format does.
func formatDate(lang, layout string, v any) (string, error) {
	t, err := toTime(v)
	if err != nil {
		return "", err
	}
	fr := lang == "fr"
	switch layout {
	case "short":
		if fr {
			return t.Format("02/01/2006"), nil
		}
		if lang == "en" {
			return t.Format("01/02/2006"), nil
		}
		return t.Format("2006-01-02"), nil
	case "long", "full":
		s := ""
		if fr {
			day := strconv.Itoa(t.Day())
			if t.Day() == 1 {
				day = "1er"
			}
			s = day + " " + frMonths[t.Month()-1] + " " + strconv.Itoa(t.Year())
			if layout == "full" {
				s = frDays[t.Weekday()] + " " + s
			}
			return s, nil
		}
		s = t.Format("January 2, 2006")
		if layout == "full" {
			s = t.Format("Monday, ") + s
		}
		return s, nil
	}
	return t.Format(layout), nil
}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case *time.Time:
		if x != nil {
			return *x, nil
		}
	case string:
		for _, l := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(l, x); err == nil {
				return t, nil
			}
		}
		return time.Time{}, errors.New("date: value is not an RFC 3339 or YYYY-MM-DD date")
	}
	return time.Time{}, fmt.Errorf("date: cannot format a %T", v)
}

// toFloat accepts the number types data carries (Go numbers, JSON numbers
// and numeric strings, with a decimal comma as French files write them).
func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case fmt.Stringer:
		return strconv.ParseFloat(strings.Replace(x.String(), ",", ".", 1), 64)
	case string:
		f, err := strconv.ParseFloat(strings.Replace(strings.TrimSpace(x), ",", ".", 1), 64)
		if err != nil {
			return 0, errors.New("value is not a number")
		}
		return f, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	}
	return 0, fmt.Errorf("cannot use a %T as a number", v)
}

// formatNumber implements number: {{number .X}} or {{number 2 .X}} (fixed
// decimals). Without decimals an integral value prints none and any
// other value prints up to two.
func formatNumber(p *message.Printer, args []any) (string, error) {
	var decimals = -1
	switch len(args) {
	case 1:
	case 2:
		d, ok := args[0].(int)
		if !ok || d < 0 || d > 9 {
			return "", fmt.Errorf("number: decimals must be an integer 0..9, got %v", args[0])
		}
		decimals = d
	default:
		return "", fmt.Errorf("number: want 1 or 2 arguments, got %d", len(args))
	}
	f, err := toFloat(args[len(args)-1])
	if err != nil {
		return "", fmt.Errorf("number: %w", err)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("number: not a finite number")
	}
	if decimals < 0 {
		if f == math.Trunc(f) {
			decimals = 0
		} else {
			return p.Sprint(number.Decimal(f, number.MaxFractionDigits(2))), nil
		}
	}
	return p.Sprint(number.Decimal(f, number.MinFractionDigits(decimals), number.MaxFractionDigits(decimals))), nil
}

var currencySymbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF"}

// formatMoney prints amount with two decimals and the currency symbol
// placed as the locale does: "1 234,56 €" in French, "€1,234.56" in English.
func formatMoney(p *message.Printer, lang string, amount any, cur string) (string, error) {
	f, err := toFloat(amount)
	if err != nil {
		return "", fmt.Errorf("money: %w", err)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("money: not a finite number")
	}
	cur = strings.ToUpper(strings.TrimSpace(cur))
	sym, ok := currencySymbols[cur]
	if !ok {
		sym = cur
	}
	n := p.Sprint(number.Decimal(math.Abs(f), number.MinFractionDigits(2), number.MaxFractionDigits(2)))
	sign := ""
	if f < 0 {
		sign = "-"
	}
	if lang == "en" {
		if utf8.RuneCountInString(sym) > 1 {
			return sign + sym + "\u00a0" + n, nil
		}
		return sign + sym + n, nil
	}
	return sign + n + "\u00a0" + sym, nil
}

// truncate cuts s to at most n runes, ending with "…" when it cut.
func truncate(n int, s string) (string, error) {
	if n < 1 {
		return "", fmt.Errorf("truncate: length must be positive, got %d", n)
	}
	if utf8.RuneCountInString(s) <= n {
		return s, nil
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…", nil
}

// join joins the elements of a list (any slice) with sep.
func join(sep string, list any) (string, error) {
	if list == nil {
		return "", nil
	}
	rv := reflect.ValueOf(list)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return "", fmt.Errorf("join: %T is not a list", list)
	}
	parts := make([]string, rv.Len())
	for i := range parts {
		parts[i] = fmt.Sprint(rv.Index(i).Interface())
	}
	return strings.Join(parts, sep), nil
}
