package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lease takes the lease of each stream of a source, so no two runs (another
// process, another machine, a cron run beside `devpulse schedule`) collect
// it at once. A stream whose lease is held is waited for (schedule.on_busy:
// wait, up to busy_timeout) or skipped with a log line (skip). Held leases
// are renewed every third of lease_ttl until release; a renewal that finds
// the lease taken (this process stalled past the TTL) cancels the source.
func (r *Runner) lease(ctx context.Context, cancel context.CancelCauseFunc, source string, streams []string, holder string) (
	got, skipped []string, release func(), err error) {
	sc := r.Cfg.Schedule
	ttl := time.Duration(sc.LeaseTTL)
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	name := func(st string) string { return "collect/" + source + "/" + st }
	for _, st := range streams {
		ok, by, until, lerr := r.WH.Acquire(ctx, name(st), holder, ttl)
		if lerr == nil && !ok && deadHolder(by) {
			// A process of this machine that died (SIGKILL, OOM) cannot renew:
			// its lease is free now rather than at expiry.
			r.Log.Info("taking over the lease of a process that is gone", "source", source, "stream", st, "held_by", by)
			if lerr = r.WH.Release(ctx, name(st), by); lerr == nil {
				ok, by, until, lerr = r.WH.Acquire(ctx, name(st), holder, ttl)
			}
		}
		deadline := time.Now().Add(time.Duration(sc.BusyTimeout))
		for lerr == nil && !ok && sc.OnBusy != "skip" && time.Now().Before(deadline) {
			r.Log.Info("waiting for a stream collected by another run", "source", source, "stream", st, "held_by", by, "lease_until", until.Format(time.RFC3339))
			select {
			case <-ctx.Done():
				lerr = ctx.Err()
			case <-time.After(min(2*time.Second, time.Until(deadline)+time.Millisecond)):
				ok, by, until, lerr = r.WH.Acquire(ctx, name(st), holder, ttl)
			}
		}
		switch {
		case lerr != nil:
			err = fmt.Errorf("%s/%s: %w", source, st, lerr)
		case ok:
			got = append(got, st)
		case sc.OnBusy == "skip":
			r.Log.Warn("stream skipped: another run is collecting it", "source", source, "stream", st, "held_by", by, "lease_until", until.Format(time.RFC3339))
			skipped = append(skipped, source+"/"+st)
		default:
			err = fmt.Errorf("%s/%s: still collected by %s after waiting %s (schedule.busy_timeout); lease until %s",
				source, st, by, time.Duration(sc.BusyTimeout), until.Format(time.RFC3339))
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				for _, st := range got {
					ok, by, _, lerr := r.WH.Acquire(ctx, name(st), holder, ttl)
					if lerr == nil && !ok {
						cancel(fmt.Errorf("%s/%s: lease lost to %s (this run stalled longer than schedule.lease_ttl)", source, st, by))
						return
					}
				}
			}
		}
	}()
	release = func() {
		close(stop)
		<-done
		for _, st := range got {
			if rerr := r.WH.Release(context.WithoutCancel(ctx), name(st), holder); rerr != nil {
				r.Log.Warn("release lease", "err", rerr)
			}
		}
	}
	return got, skipped, release, err
}

// HolderName names this process in leases: host, pid and run id.
func HolderName(runID string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s pid %d run %s", host, os.Getpid(), runID)
}

// deadHolder reports a lease holder that ran on this host and whose process
// no longer exists.
func deadHolder(holder string) bool {
	var host, run string
	var pid int
	if n, _ := fmt.Sscanf(holder, "%s pid %d run %s", &host, &pid, &run); n != 3 || pid <= 0 {
		return false
	}
	if h, _ := os.Hostname(); h != host || pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
