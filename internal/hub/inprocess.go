package hub

import (
	"errors"
	"net"
	"sync"
)

// inProcessListener is the hub's Kafka listener plus connections made from
// inside odx (net.Pipe): kfake serves both alike, and odx's own producers
// skip loopback sockets (and an advertised address that may not lead back
// to this process).
type inProcessListener struct {
	net.Listener
	accepted chan acceptResult
	pipes    chan net.Conn
	closed   chan struct{}
	once     sync.Once
}

type acceptResult struct {
	conn net.Conn
	err  error
}

var errHubClosed = errors.New("embedded event hub is closed")

func newInProcessListener(l net.Listener) *inProcessListener {
	ipl := &inProcessListener{Listener: l, accepted: make(chan acceptResult), pipes: make(chan net.Conn), closed: make(chan struct{})}
	go ipl.acceptNetwork()
	return ipl
}

// acceptNetwork hands the network listener's connections to Accept.
func (l *inProcessListener) acceptNetwork() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.accepted <- acceptResult{c, err}:
		case <-l.closed:
			if c != nil {
				c.Close()
			}
			return
		}
		if err != nil {
			return
		}
	}
}

func (l *inProcessListener) Accept() (net.Conn, error) {
	select {
	case r := <-l.accepted:
		return r.conn, r.err
	case c := <-l.pipes:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *inProcessListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// dial returns a connection to the hub that never leaves the process.
func (l *inProcessListener) dial() (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.pipes <- server:
		return client, nil
	case <-l.closed:
		client.Close()
		server.Close()
		return nil, errHubClosed
	}
}
