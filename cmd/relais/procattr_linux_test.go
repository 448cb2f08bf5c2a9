package main

import "syscall"

// childAttr makes a process a test starts die with the test process, so
// that a test killed by its timeout leaves no worker behind holding
// database connections.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
