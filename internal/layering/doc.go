// Package layering holds no code. Its tests pin the project's structure:
// the direction of its dependencies, so that a convenient import cannot
// quietly make the campaign parser link an SMS SDK again (only cmd/ wires
// the send path, internal/worker, and only cmd/ and the provider packages
// under internal/channel import a provider SDK; every domain package stays
// free of them, even indirectly through another relais package), and that
// every fuzz target runs in `make test` with a committed seed corpus.
package layering
