package kafkasim

import (
	"sync"
	"time"
)

// Clock is the double's simulated time. Every timed behaviour (copy progress,
// ISR lag, automatic leader rebalance) runs on it, so a test can move hours
// forward with Advance, or run a scaled clock where simulated time passes
// Factor times faster than real time (a two-hour migration in seconds at 1000x).
type Clock struct {
	mu        sync.Mutex
	base      time.Time // simulated time at realStart, plus every Advance
	realStart time.Time
	factor    float64
}

// NewManualClock returns a clock standing at start that moves only when
// Advance is called.
func NewManualClock(start time.Time) *Clock {
	return &Clock{base: start, realStart: time.Now()}
}

// NewScaledClock returns a clock starting at start whose simulated time passes
// factor times faster than real time (factor 1000: one real second is 16m40s).
// Advance still jumps it forward.
func NewScaledClock(start time.Time, factor float64) *Clock {
	return &Clock{base: start, realStart: time.Now(), factor: factor}
}

// Now returns the current simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *Clock) nowLocked() time.Time {
	if c.factor <= 0 {
		return c.base
	}
	elapsed := time.Since(c.realStart)
	return c.base.Add(time.Duration(float64(elapsed) * c.factor))
}

// Advance moves simulated time forward by d (negative d is ignored: time never
// runs backwards). The cluster catches up with the new time on its next
// request or accessor call.
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base = c.base.Add(d)
}

// SetFactor changes how fast simulated time passes from now on: factor
// times real time, or, with 0, not at all (only Advance moves it then). A
// test stops the clock to hold a copy in flight for as long as it looks,
// whatever the machine's load, and starts it again to let the copy finish.
func (c *Clock) SetFactor(factor float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.realStart, c.factor = c.nowLocked(), time.Now(), max(factor, 0)
}

// Factor returns how much faster than real time the clock runs; 0 for a
// manual clock.
func (c *Clock) Factor() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.factor
}

// RealDuration converts a simulated duration into the real time it takes on
// this clock (d itself on a manual clock), for pollers that want to wait "one
// simulated second".
func (c *Clock) RealDuration(d time.Duration) time.Duration {
	f := c.Factor()
	if f <= 0 {
		return d
	}
	return time.Duration(float64(d) / f)
}
