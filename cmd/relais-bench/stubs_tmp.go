package main

import "context"

func benchPrint(ctx context.Context, e *env) (Section, error)   { return Section{}, nil }
func benchPixel(ctx context.Context, e *env) (Section, error)   { return Section{}, nil }
func benchLatency(ctx context.Context, e *env) (Section, error) { return Section{}, nil }
