package print

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/relais-dev/relais/internal/channel"
	"github.com/relais-dev/relais/internal/postal"
)

// RenderOne writes m as a one-letter PDF to w, exactly as it would appear
// in a batch (without the blank verso and inserts), for `relais preview
// --channel print`. The letter is dated now. An address that cannot be
// written is a *postal.RefusalError; a bad layout is an error from
// postal.Layout.Normalize.
func RenderOne(ctx context.Context, m *channel.Message, layout postal.Layout, w io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	lay, err := layout.Normalize()
	if err != nil {
		return err
	}
	l, err := newLetter(m, lay, time.Now())
	if err != nil {
		return err
	}
	f := newDoc(lay)
	if _, err := renderLetter(f, l, lay); err != nil {
		return err
	}
	if err := f.Output(w); err != nil {
		return fmt.Errorf("print: write preview: %w", err)
	}
	return nil
}
