package print

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/postal"
)

// sendAll sends n letters of run concurrently, as workers would.
func sendAll(t testing.TB, s *Sender, run string, n int, mutate func(i int, m *channel.Message)) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				m := testMessage(t, run, i)
				if mutate != nil {
					mutate(i, m)
				}
				r, err := s.Send(context.Background(), m)
				if err == nil && !strings.HasPrefix(r.ProviderID, "print:"+run+":") {
					err = errors.New("bad provider id " + r.ProviderID)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Send: %v", err)
	}
}

func readManifest(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(ManifestHeader, ",") {
		t.Fatalf("header %v", rows[0])
	}
	return rows[1:]
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("atoi %q: %v", s, err)
	}
	return n
}

func TestAssembleThousandLetters(t *testing.T) {
	dir := t.TempDir()
	b, err := NewBatcher(dir, testLayout)
	if err != nil {
		t.Fatal(err)
	}
	insert := insertPDF(t, 1, true)
	const n = 1000
	sendAll(t, b.Sender(), "run1", n, func(i int, m *channel.Message) {
		if i%4 == 0 {
			m.Inserts = []channel.Attachment{{Name: "depliant.pdf", Data: insert}}
		}
	})
	// A retried send replaces its letter instead of printing it twice.
	sendAll(t, b.Sender(), "run1", 3, nil)

	res, err := b.Assemble(context.Background(), "run1")
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	if len(res) != 2 {
		t.Fatalf("%d batches, want 2", len(res))
	}
	letters, lastPC, lastSeq := 0, "", 0
	for _, r := range res {
		if r.Rejected {
			t.Fatalf("batch %s rejected: %s", r.Name, r.Reason)
		}
		data, err := os.ReadFile(r.PDF)
		if err != nil {
			t.Fatal(err)
		}
		conf := pdfConf()
		if err := api.Validate(bytes.NewReader(data), conf); err != nil {
			t.Fatalf("%s invalid: %v", r.Name, err)
		}
		pages, err := api.PageCount(bytes.NewReader(data), conf)
		if err != nil {
			t.Fatal(err)
		}
		info, err := api.PDFInfo(bytes.NewReader(data), r.PDF, nil, true, pdfConf())
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Fonts) == 0 {
			t.Fatalf("%s: no fonts listed", r.Name)
		}
		for _, fi := range info.Fonts {
			if !fi.Embedded {
				t.Fatalf("%s: font %s not embedded", r.Name, fi.Name)
			}
		}
		rows := readManifest(t, r.Manifest)
		letters += len(rows)
		if pages != r.Pages || atoi(t, rows[len(rows)-1][4]) != pages || pages%2 != 0 {
			t.Fatalf("%s: %d pages, result %d, manifest ends at %s", r.Name, pages, r.Pages, rows[len(rows)-1][4])
		}
		// Read every letter's first page back and find its address.
		firsts := map[int]int{}
		var sel []string
		for k, row := range rows {
			first := atoi(t, row[3])
			if first%2 != 1 {
				t.Fatalf("letter %s starts on even page %d", row[0], first)
			}
			if k > 0 && first != atoi(t, rows[k-1][4])+1 {
				t.Fatalf("letter %s: pages not contiguous", row[0])
			}
			if row[6] < lastPC {
				t.Fatalf("postcode %s after %s", row[6], lastPC)
			}
			lastPC = row[6]
			if seq := atoi(t, row[0]); seq != lastSeq+1 {
				t.Fatalf("sequence %d after %d", seq, lastSeq)
			}
			lastSeq++
			firsts[first] = k
			sel = append(sel, strconv.Itoa(first))
		}
		found := 0
		err = api.ExtractContent(bytes.NewReader(data), sel, func(rd io.Reader, page int) error {
			k, ok := firsts[page]
			if !ok {
				return nil
			}
			content, err := io.ReadAll(rd)
			if err != nil {
				return err
			}
			i := atoi(t, strings.TrimPrefix(rows[k][1], "L"))
			want, err := postal.Address(testMessage(t, "run1", i).Contact)
			if err != nil {
				return err
			}
			runs := TextRuns(content)
			for _, line := range want {
				ok := false
				for _, tr := range runs {
					if tr.Text == line && withDefaults(t, testLayout).WindowRect.Contains(tr.X, tr.Y) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("page %d: address line %q not found in the window", page, line)
				}
			}
			found++
			return nil
		}, pdfConf())
		if err != nil {
			t.Fatal(err)
		}
		if found != len(rows) {
			t.Fatalf("checked %d first pages, want %d", found, len(rows))
		}
	}
	if letters != n {
		t.Fatalf("%d letters in manifests, want %d", letters, n)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "run1", "summary.json")); err != nil {
		t.Fatalf("summary: %v", err)
	}
	// Letters carry names and addresses: only their owner may read them.
	if err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o, want %o", p, got, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func withDefaults(t *testing.T, l postal.Layout) postal.Layout {
	t.Helper()
	n, err := l.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSendRefusals(t *testing.T) {
	b, err := NewBatcher(t.TempDir(), testLayout)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(m *channel.Message)
		reason string
	}{
		{name: "address too long", reason: postal.ReasonInvalidAddress, mutate: func(m *channel.Message) {
			m.Contact.Address.Line1 = "Lieu dit Les Grandes Combes de la Montagne Noire du Haut"
		}},
		{name: "no contact", reason: postal.ReasonInvalidAddress, mutate: func(m *channel.Message) { m.Contact = nil }},
		{name: "insert not a PDF", reason: ReasonInvalidInsert, mutate: func(m *channel.Message) {
			m.Inserts = []channel.Attachment{{Name: "x.pdf", Data: []byte("not a pdf")}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage(t, "r", 1)
			tt.mutate(m)
			_, err := b.Sender().Send(context.Background(), m)
			var re *postal.RefusalError
			if !errors.As(err, &re) || re.Reason != tt.reason || !channel.IsPermanent(err) {
				t.Fatalf("err = %v, want %s", err, tt.reason)
			}
		})
	}
}

func TestPreflightRejects(t *testing.T) {
	tests := []struct {
		name   string
		insert []byte
		window *postal.Rect // preflight against another envelope than the layout's
		reason string
	}{
		{name: "font not embedded", insert: insertPDF(t, 1, false), reason: "not embedded"},
		{name: "address outside window", window: &postal.Rect{X: 120, Y: 50, W: 80, H: 45}, reason: "outside the window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			b, err := NewBatcher(dir, testLayout, WithBatchSize(10))
			if err != nil {
				t.Fatal(err)
			}
			sendAll(t, b.Sender(), "r", 5, func(i int, m *channel.Message) {
				if tt.insert != nil {
					m.Inserts = []channel.Attachment{{Name: "i.pdf", Data: tt.insert}}
				}
			})
			if tt.window != nil {
				b.envelope = *tt.window
			}
			res, err := b.Assemble(context.Background(), "r")
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || !res[0].Rejected || !strings.Contains(res[0].Reason, tt.reason) {
				t.Fatalf("results %+v, want rejected for %q", res, tt.reason)
			}
			txt, err := os.ReadFile(filepath.Join(dir, "out", "r", res[0].Name+".rejected.txt"))
			if err != nil || !strings.Contains(string(txt), tt.reason) {
				t.Fatalf("rejection file: %q, %v", txt, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "out", "r", res[0].Name+".pdf")); !os.IsNotExist(err) {
				t.Fatalf("rejected batch released: %v", err)
			}
		})
	}
}

func TestSafeCell(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "formula", in: "=HYPERLINK(1)", want: "'=HYPERLINK(1)"},
		{name: "plus", in: "+33", want: "'+33"},
		{name: "at", in: "@x", want: "'@x"},
		{name: "plain", in: "69003", want: "69003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SafeCell(tt.in); got != tt.want {
				t.Fatalf("got %q", got)
			}
		})
	}
}

// TestParallelAssemblySameBytes assembles the same spool with one worker
// and with several: batches laid out in parallel must be the same files.
func TestParallelAssemblySameBytes(t *testing.T) {
	dir := t.TempDir()
	b, err := NewBatcher(dir, testLayout, WithBatchSize(4))
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, b.Sender(), "r", 11, nil)
	outputs := map[int]map[string][]byte{}
	for _, workers := range []int{1, 3} {
		b.workers = workers
		res, err := b.Assemble(context.Background(), "r")
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 3 {
			t.Fatalf("%d workers: %d batches, want 3", workers, len(res))
		}
		files := map[string][]byte{}
		for k, r := range res {
			if want := fmt.Sprintf("r-%03d", k+1); r.Name != want || r.Rejected {
				t.Fatalf("%d workers: batch %d is %s (rejected %v), want %s", workers, k, r.Name, r.Rejected, want)
			}
			for _, path := range []string{r.PDF, r.Manifest} {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				files[filepath.Base(path)] = data
			}
		}
		outputs[workers] = files
	}
	if len(outputs[1]) != 6 {
		t.Fatalf("%d files, want 6", len(outputs[1]))
	}
	for name, want := range outputs[1] {
		if got := outputs[3][name]; !bytes.Equal(got, want) {
			t.Fatalf("%s differs between 1 and 3 workers", name)
		}
	}
}
