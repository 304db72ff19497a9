package embed

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// go-resiliency flips an opened breaker to half-open from a sleeping goroutine it
	// does not let us stop; the sleep ends with the breaker's reset time.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"))
}
