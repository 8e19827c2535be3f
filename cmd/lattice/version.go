package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func newVersionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this binary",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			commit := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						commit = s.Value
					}
				}
			}
			v := map[string]string{"version": version, "commit": commit, "go": runtime.Version()}
			if a.output == "json" {
				return a.printJSON(v)
			}
			_, err := fmt.Fprintf(a.stdout, "lattice %s (commit %s, %s)\n", version, commit, runtime.Version())
			return err
		},
	}
}
