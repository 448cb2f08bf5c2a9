package main

import "context"

func benchEmail(ctx context.Context, e *env) (Section, error)   { return Section{}, nil }
func benchSMS(ctx context.Context, e *env) (Section, error)     { return Section{}, nil }
func benchPrint(ctx context.Context, e *env) (Section, error)   { return Section{}, nil }
func benchPixel(ctx context.Context, e *env) (Section, error)   { return Section{}, nil }
func benchLatency(ctx context.Context, e *env) (Section, error) { return Section{}, nil }
