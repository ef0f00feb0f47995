// Package nettest gives tests loopback addresses that misbehave the way a
// broken server does: one that refuses connections and one that accepts
// them and never answers. Test helpers only; nothing in the product uses it.
package nettest

import (
	"net"
	"testing"
)

// RefusedAddr returns a loopback address nothing listens on: a dial is
// refused at once.
func RefusedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// SilentAddr returns a loopback address that accepts connections and never
// answers, as a frozen server does; it closes when the test ends.
func SilentAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, conn)
		}
	}()
	return ln.Addr().String()
}
