// probe is the test workload of tests/k8s_node: a static binary in an image FROM scratch.
//
//	probe serve ADDR       answers every request with "hello from <hostname> <path>"
//	probe get URL...       GETs each URL until it answers 200 (60 s at most), prints the bodies
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func serve(addr string) error {
	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s %s\n", host, r.URL.Path)
	})
	return http.ListenAndServe(addr, nil)
}

func fetch(url string) (string, error) {
	client := http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, readErr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && readErr == nil {
				return string(body), nil
			}
			err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			return "", err
		}
		fmt.Fprintf(os.Stderr, "%s: %v (retrying)\n", url, err)
		time.Sleep(time.Second)
	}
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: probe serve ADDR | probe get URL...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		fmt.Fprintln(os.Stderr, serve(os.Args[2]))
		os.Exit(1)
	case "get":
		for _, url := range os.Args[2:] {
			body, err := fetch(url)
			if err != nil {
				fmt.Printf("FAILED %s: %v\n", url, err)
				os.Exit(1)
			}
			fmt.Printf("GET %s -> %s", url, body)
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}
