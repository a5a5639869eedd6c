// Bulk ingestion with go-elasticsearch's esutil.BulkIndexer, for `cargo xtask bench`.
//
//	bulk -url URL -index I -file F.ndjson [-docs N]
//
// Streams the first N lines of F (one JSON document per line) as index operations
// with ids "0-<line>", through a BulkIndexer with its default settings, and prints
// docs/s, CPU seconds and peak RSS as one JSON line.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/elastic/go-elasticsearch/v9"
	"github.com/elastic/go-elasticsearch/v9/esutil"
)

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// peakRSSKiB is this process's peak resident set size (VmHWM). Not getrusage's
// ru_maxrss: Linux carries that over an exec from the process that forked us.
func peakRSSKiB() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kib
		}
	}
	return 0
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/elastic/go-elasticsearch/v9" {
				return dep.Version
			}
		}
	}
	return "unknown"
}

func main() {
	url := flag.String("url", "", "node URL")
	index := flag.String("index", "", "index name")
	file := flag.String("file", "", "NDJSON documents")
	docs := flag.Int("docs", math.MaxInt, "number of documents")
	flag.Parse()

	client, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{*url}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f, err := os.Open(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()

	var ok, failed, sent int64
	cpuStart := cpuSeconds()
	started := time.Now()
	indexer, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: client, Index: *index})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<26)
	ctx := context.Background()
	for i := 0; i < *docs && scanner.Scan(); i++ {
		line := scanner.Bytes()
		if len(line) == 0 {
			continue
		}
		body := make([]byte, len(line))
		copy(body, line)
		sent++
		err := indexer.Add(ctx, esutil.BulkIndexerItem{
			Action:     "index",
			DocumentID: fmt.Sprintf("0-%d", i),
			Body:       bytes.NewReader(body),
			OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
				atomic.AddInt64(&ok, 1)
			},
			OnFailure: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem, error) {
				atomic.AddInt64(&failed, 1)
			},
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := scanner.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := indexer.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	elapsed := time.Since(started).Seconds()
	cpu := cpuSeconds() - cpuStart
	out, _ := json.Marshal(map[string]any{
		"contender":       "go-elasticsearch",
		"version":         version(),
		"docs":            sent,
		"successes":       atomic.LoadInt64(&ok),
		"failures":        atomic.LoadInt64(&failed),
		"seconds":         elapsed,
		"docs_per_second": float64(sent) / elapsed,
		"cpu_seconds":     cpu,
		"peak_rss_kib":    peakRSSKiB(),
	})
	fmt.Println(string(out))
}
