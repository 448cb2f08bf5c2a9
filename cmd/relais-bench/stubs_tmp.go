package main

import "context"

func benchLatency(ctx context.Context, e *env) (Section, error) { return Section{}, nil }
