package mover

import (
	"sync"
	"time"
)

// Limiter is a token bucket of bytes per second, shared by every mover
// that uses it (the repairs of one node). It is safe for concurrent use.
type Limiter struct {
	rate  float64 // bytes per second
	burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewLimiter allows rate bytes per second with bursts of burst bytes
// (at least one second's worth when burst is 0). A rate of 0 or less
// returns nil, which allows everything.
func NewLimiter(rate, burst int64) *Limiter {
	if rate <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = rate
	}
	return &Limiter{rate: float64(rate), burst: float64(burst), tokens: float64(burst), now: time.Now}
}

// take spends n bytes if the bucket holds them, else it returns how long
// until it will. A request larger than the burst is allowed once the
// bucket is full, and leaves it in debt.
func (l *Limiter) take(n int64) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	need := min(float64(n), l.burst)
	if l.tokens >= need {
		l.tokens -= float64(n)
		return 0
	}
	return time.Duration((need - l.tokens) / l.rate * float64(time.Second))
}
