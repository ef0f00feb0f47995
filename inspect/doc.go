// Package inspect reads a live cluster: `kshift snapshot` (the cluster as a
// plans.Snapshot), `kshift check` (the health gates run before every step
// and on their own), and derives from a snapshot the server.properties
// fragments that join target brokers (`kshift join config`). It only reads:
// it must never change cluster state, and it prints nothing (callers render
// what it returns).
package inspect
