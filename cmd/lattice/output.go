package main

import (
	"fmt"
	"text/tabwriter"
	"time"
)

// show prints v as JSON with --output json, else as the table that rows
// renders (a header line and one tab-separated line per item).
func (a *app) show(v any, header string, rows func(add func(cols ...any))) error {
	if a.output == "json" {
		return a.printJSON(v)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(func(cols ...any) {
		for i, c := range cols {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, cell(c))
		}
		fmt.Fprintln(tw)
	})
	return tw.Flush()
}

func cell(v any) string {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case *time.Time:
		if x == nil {
			return "-"
		}
		return x.UTC().Format(time.RFC3339)
	case string:
		if x == "" {
			return "-"
		}
		return x
	default:
		return fmt.Sprint(v)
	}
}
