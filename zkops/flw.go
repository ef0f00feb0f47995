package zkops

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// FLWTimeout bounds one four-letter-word exchange; a paused or cut-off
// server answers nothing and must not stall a status read.
const FLWTimeout = 2 * time.Second

// fourLetterWord sends word to the server at addr and returns its answer.
func fourLetterWord(ctx context.Context, addr, word string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, FLWTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s to %s: %w", word, addr, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte(word)); err != nil {
		return "", fmt.Errorf("%s to %s: %w", word, addr, err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return "", fmt.Errorf("%s to %s: no answer: %w", word, addr, err)
	}
	out := string(b)
	if strings.Contains(out, "is not executed because it is not in the whitelist") {
		return "", fmt.Errorf("%s to %s: four-letter word not allowed: add 4lw.commands.whitelist=srvr,mntr,ruok to zoo.cfg", word, addr)
	}
	return out, nil
}

// ServerInfo is one server's answer to `srvr`.
type ServerInfo struct {
	// Mode is leader, follower, observer or standalone.
	Mode      string
	Zxid      int64
	NodeCount int
	Version   string
}

// Srvr asks the server at addr for its mode and last zxid.
func Srvr(ctx context.Context, addr string) (*ServerInfo, error) {
	out, err := fourLetterWord(ctx, addr, "srvr")
	if err != nil {
		return nil, err
	}
	info := &ServerInfo{}
	for _, line := range strings.Split(out, "\n") {
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "Mode":
			info.Mode = val
		case "Zxid":
			info.Zxid, err = strconv.ParseInt(strings.TrimPrefix(val, "0x"), 16, 64)
			if err != nil {
				return nil, fmt.Errorf("srvr from %s: zxid %q: %w", addr, val, err)
			}
		case "Node count":
			info.NodeCount, _ = strconv.Atoi(val)
		case "Zookeeper version":
			info.Version, _, _ = strings.Cut(val, ",")
		}
	}
	if info.Mode == "" {
		return nil, fmt.Errorf("srvr from %s: not serving: %s", addr, strings.TrimSpace(out))
	}
	return info, nil
}

// Answers reports whether a ZooKeeper server runs at addr: it answers srvr,
// serving or not (a server that is not yet, or no longer, a member may be
// looking for a leader and serve nothing until a reconfig adds it).
func Answers(ctx context.Context, addr string) error {
	_, err := fourLetterWord(ctx, addr, "srvr")
	return err
}

// Mntr returns the server's `mntr` variables (zk_server_state,
// zk_synced_followers, zk_synced_observers, zk_quorum_size, ...).
func Mntr(ctx context.Context, addr string) (map[string]string, error) {
	out, err := fourLetterWord(ctx, addr, "mntr")
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "\t"); ok {
			vars[k] = strings.TrimSpace(v)
		}
	}
	if len(vars) == 0 {
		return nil, fmt.Errorf("mntr from %s: not serving: %s", addr, strings.TrimSpace(out))
	}
	return vars, nil
}
