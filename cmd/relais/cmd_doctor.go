package main

import "github.com/spf13/cobra"

func (a *app) doctorCmd() *cobra.Command {
	return &cobra.Command{Use: "doctor", Short: "Check the DNS sending setup of every From domain", Hidden: true}
}
