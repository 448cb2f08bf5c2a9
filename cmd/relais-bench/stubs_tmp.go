package main

import "context"

func benchPixel(ctx context.Context, e *env) (Section, error)   { return Section{}, nil }
func benchLatency(ctx context.Context, e *env) (Section, error) { return Section{}, nil }
