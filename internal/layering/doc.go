// Package layering holds no code. Its test pins the direction of the
// project's dependencies, so that a convenient import cannot quietly make
// the campaign parser link an SMS SDK again: only cmd/ wires the send path
// (internal/worker), and only cmd/ and the provider packages under
// internal/channel import a provider SDK; every domain package stays free
// of them, even indirectly through another relais package.
package layering
