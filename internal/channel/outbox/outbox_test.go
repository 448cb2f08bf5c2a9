package outbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		data    []byte
		wantErr error
	}{
		{name: "eml file", file: "0190-abc.eml", data: []byte("Subject: hi\r\n\r\nbody\r\n")},
		{name: "empty data", file: "empty.json", data: nil},
		{name: "empty name", file: "", wantErr: ErrInvalidName},
		{name: "dot dot", file: "..", wantErr: ErrInvalidName},
		{name: "hidden", file: ".x.eml", wantErr: ErrInvalidName},
		{name: "traversal", file: "../x.eml", wantErr: ErrInvalidName},
		{name: "subdirectory", file: "a/b.eml", wantErr: ErrInvalidName},
		{name: "backslash", file: `a\b.eml`, wantErr: ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "nested", "outbox")
			path, err := Write(dir, tt.file, tt.data)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Write error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if path != filepath.Join(dir, tt.file) {
				t.Errorf("path = %q, want %q", path, filepath.Join(dir, tt.file))
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.data) {
				t.Errorf("content = %q, want %q", got, tt.data)
			}
			assertNoTemp(t, dir)
		})
	}
}

func TestWriteReplacesAndIsSafeConcurrently(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := bytes.Repeat([]byte{byte('a' + i)}, 4096)
			if _, err := Write(dir, "same.eml", data); err != nil {
				t.Errorf("Write: %v", err)
			}
		}()
	}
	wg.Wait()
	got, err := os.ReadFile(filepath.Join(dir, "same.eml"))
	if err != nil {
		t.Fatal(err)
	}
	// Whichever writer won, the file must be one writer's complete content,
	// never a mix of two.
	if len(got) != 4096 || !bytes.Equal(got, bytes.Repeat(got[:1], 4096)) {
		t.Fatalf("file is torn: len %d", len(got))
	}
	assertNoTemp(t, dir)
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}
