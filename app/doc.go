// Package app is the outermost ring of the hexagon: it reads the
// configuration, picks exactly one adapter module per port, wires them with
// fx around the core's use cases, seeds development data, and runs the server.
package app
