package main

import "sync"

// forEachParallel calls fn(i) for every i in [0, n) from workers goroutines, each
// taking the next index when it is free (a closed loop per worker), and returns
// when every call has returned.
func forEachParallel(n, workers int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
