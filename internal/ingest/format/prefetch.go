package format

import (
	"io"
	"sync"
)

// Prefetch runs d in its own goroutine, decoding up to ahead batches before
// they are asked for, so that decoding overlaps with whatever the caller
// does with a batch (binding, appending). The returned decoder must be
// closed (Close), which stops the goroutine and closes d.
func Prefetch(d Decoder, ahead int) Decoder {
	if ahead < 1 {
		ahead = 1
	}
	p := &prefetcher{d: d, out: make(chan prefetched, ahead), stop: make(chan struct{})}
	p.wg.Add(1)
	go p.run()
	return p
}

type prefetched struct {
	b   *Batch
	err error
}

type prefetcher struct {
	d     Decoder
	out   chan prefetched
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	final error // the error that ended the stream, returned from then on
}

func (p *prefetcher) run() {
	defer p.wg.Done()
	defer close(p.out)
	for {
		b, err := p.d.Next()
		select {
		case p.out <- prefetched{b, err}:
		case <-p.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (p *prefetcher) Next() (*Batch, error) {
	if p.final != nil {
		return nil, p.final
	}
	r, ok := <-p.out
	if !ok {
		p.final = io.EOF
		return nil, io.EOF
	}
	if r.err != nil {
		p.final = r.err
	}
	return r.b, r.err
}

// Close stops decoding and closes the underlying decoder.
func (p *prefetcher) Close() error {
	var err error
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		err = Close(p.d)
	})
	return err
}
