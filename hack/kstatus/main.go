// Command kstatus prints what sigs.k8s.io/cli-utils' kstatus (the library Flux uses for
// health checks) computes for Kubernetes objects.
//
// It reads one JSON object, or a List such as `kubectl get -o json` prints, on stdin and
// prints one line per object:
//
//	<Status>\t<message>
//
// where Status is InProgress, Failed, Current, Terminating, NotFound or Unknown. With
// -o json it prints a JSON array of {"name", "status", "message"} instead.
//
// Exit codes: 0 on success, 2 when the input cannot be read or computed.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	output := flag.String("o", "text", "output format: text or json")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *output); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(2)
	}
}

func run(in io.Reader, out io.Writer, format string) error {
	data, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	// apimachinery's decoder turns integers into int64, as unstructured accessors expect.
	var obj map[string]interface{}
	if err := utiljson.Unmarshal(data, &obj); err != nil {
		return fmt.Errorf("stdin is not a JSON object: %w", err)
	}
	objects := []map[string]interface{}{obj}
	kind, _ := obj["kind"].(string)
	if items, ok := obj["items"].([]interface{}); ok && strings.HasSuffix(kind, "List") {
		objects = objects[:0]
		for _, item := range items {
			m, ok := item.(map[string]interface{})
			if !ok {
				return fmt.Errorf("a List item is not an object")
			}
			objects = append(objects, m)
		}
	}
	results := make([]result, 0, len(objects))
	for _, o := range objects {
		u := &unstructured.Unstructured{Object: o}
		res, err := status.Compute(u)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", u.GetKind(), u.GetName(), err)
		}
		results = append(results, result{Name: u.GetName(), Status: res.Status.String(), Message: res.Message})
	}
	switch format {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	case "text":
		for _, r := range results {
			fmt.Fprintf(out, "%s\t%s\n", r.Status, r.Message)
		}
		return nil
	default:
		return fmt.Errorf("unknown output format %q (text or json)", format)
	}
}
