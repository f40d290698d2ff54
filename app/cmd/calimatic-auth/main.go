// Command calimatic-auth runs the Calimatic Auth OpenID provider.
//
//	calimatic-auth [serve] [--config FILE]
//
// With no configuration it runs on the embedded default: in-memory storage,
// in-process keys and a seeded demo organization and user.
package main

import (
	"fmt"
	"os"

	"github.com/calimatic/calimatic-auth/app"
)

func main() {
	if err := app.Main(os.Args[1:], os.Environ(), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "calimatic-auth:", err)
		os.Exit(1)
	}
}
