// Command lattice is the Lattice server and its command-line administration
// tool. Run "lattice --help" for the commands and "lattice serve --help" for
// the server's configuration; every flag can also be set through a LATTICE_*
// environment variable named after it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/latticecrm/lattice/platform/apierror"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCommand(os.Stdin, os.Stdout, os.Stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lattice:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode maps errors to exit statuses scripts can branch on: 2 for bad
// input, 3 for not found, 4 for conflicts, 1 for everything else.
func exitCode(err error) int {
	var usage *usageError
	if errors.As(err, &usage) {
		return 2
	}
	// cobra reports these without a type of their own.
	for _, prefix := range []string{"required flag(s)", "unknown command", "unknown flag", "unknown shorthand flag"} {
		if strings.HasPrefix(err.Error(), prefix) {
			return 2
		}
	}
	if e, ok := apierror.As(err); ok {
		switch e.Kind {
		case apierror.Invalid:
			return 2
		case apierror.NotFound:
			return 3
		case apierror.Conflict:
			return 4
		}
	}
	return 1
}

// usageError is a mistake in how a command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
