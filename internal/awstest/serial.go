package awstest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// OneAtATime returns the address of a proxy on 127.0.0.1 that forwards
// requests to endpoint one at a time, for tests whose clients write to one
// item concurrently.
//
// DynamoDB applies a conditional write atomically: the condition holds on
// the item the write replaces. moto serves each request on its own thread
// and its PutItem reads the item, evaluates the condition and stores the
// new item with no lock held between (moto/dynamodb/models/table.py,
// Table.put_item), so two conditional writes on the same version can both
// succeed there. Serving one request at a time restores the atomicity the
// code under test relies on; clients still interleave between requests, so
// a read followed by a conditional write can still lose to another
// client's write.
func OneAtATime(t testing.TB, endpoint string) string {
	t.Helper()
	f := newFront(endpoint)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
