// Command bytes is the yardstick for bench/load: an HTTP server, run as a
// process of its own like Ashlar, that does no work. It reads each
// request's body and answers with the bytes last uploaded to PUT /__bytes
// (bench/load -compare uploads the page it captured from Ashlar), with
// the headers Ashlar's answers carry.
//
//	go run ./bench/bytes -addr 127.0.0.1:8081
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	flag.Parse()
	var body atomic.Pointer[[]byte]
	empty := []byte(`{"success":true,"results":[]}`)
	body.Store(&empty)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/__bytes" {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body.Store(&b)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		io.Copy(io.Discard, r.Body)
		b := *body.Load()
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		h.Set("X-Content-Type-Options", "nosniff")
		w.Write(b)
	})
	fmt.Fprintf(os.Stderr, "bytes: listening on %s (pid %d)\n", *addr, os.Getpid())
	hs := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	log.Fatal(hs.ListenAndServe())
}
