package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Notifier tells waiters in this process when a job completes or fails, on any
// instance. It holds one Redis subscription to the events channel that Complete,
// Fail and RequeueExpired publish on, however many requests wait, so sync waits
// are woken at once instead of polling Redis (REFERENCE W19).
//
// A message lost while the subscription reconnects only delays a waiter until its
// own deadline, after which it reads the job again: waiters never trust the
// notification alone.
type Notifier struct {
	client  redis.UniversalClient
	channel string

	mu      sync.Mutex
	waiters map[string]map[*waiter]struct{}
	pubsub  *redis.PubSub
	done    chan struct{}
}

type waiter struct{ ch chan struct{} }

// NewNotifier returns a Notifier for this store's events; it listens once started.
func (s *RedisStore) NewNotifier() *Notifier {
	return &Notifier{client: s.client, channel: s.keys.events(), waiters: map[string]map[*waiter]struct{}{}}
}

// Start subscribes and returns once Redis confirmed the subscription, so that no
// event published after Start returns is missed. A second Start is an error.
func (n *Notifier) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pubsub != nil {
		return errors.New("store: notifier already started")
	}
	pubsub := n.client.Subscribe(ctx, n.channel)
	if _, err := pubsub.Receive(ctx); err != nil {
		_ = pubsub.Close()
		return fmt.Errorf("store: subscribe to %s: %w", n.channel, err)
	}
	n.pubsub, n.done = pubsub, make(chan struct{})
	go n.dispatch(pubsub.Channel(), n.done)
	return nil
}

// dispatch wakes the waiters of each job an event names. Messages are
// "<jobId> <status>".
func (n *Notifier) dispatch(messages <-chan *redis.Message, done chan<- struct{}) {
	defer close(done)
	for msg := range messages {
		jobID, _, _ := strings.Cut(msg.Payload, " ")
		n.mu.Lock()
		for w := range n.waiters[jobID] {
			close(w.ch)
		}
		delete(n.waiters, jobID)
		n.mu.Unlock()
	}
}

// Watch returns a channel closed when jobID next completes or fails, and a func
// that stops watching (call it when done waiting). Watch before reading the job's
// status, so an event between the read and the wait is not missed.
func (n *Notifier) Watch(jobID string) (<-chan struct{}, func()) {
	w := &waiter{ch: make(chan struct{})}
	n.mu.Lock()
	if n.waiters[jobID] == nil {
		n.waiters[jobID] = map[*waiter]struct{}{}
	}
	n.waiters[jobID][w] = struct{}{}
	n.mu.Unlock()
	return w.ch, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if set := n.waiters[jobID]; set != nil {
			delete(set, w)
			if len(set) == 0 {
				delete(n.waiters, jobID)
			}
		}
	}
}

// Stop ends the subscription and waits for the dispatcher. Safe before Start and
// twice.
func (n *Notifier) Stop() {
	n.mu.Lock()
	pubsub, done := n.pubsub, n.done
	n.pubsub = nil
	n.mu.Unlock()
	if pubsub == nil {
		return
	}
	_ = pubsub.Close()
	<-done
}
