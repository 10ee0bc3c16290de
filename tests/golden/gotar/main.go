// Writes tar headers with Go's archive/tar for okd-release's gotar test vectors.
package main

import (
	"archive/tar"
	"crypto/sha256"
	"bytes"
	"fmt"
	"strings"
	"time"
)

type entry struct {
	name, link string
	typ       byte
	mode      int64
	mtime     time.Time
	data      string
}

func main() {
	long := strings.Repeat("d", 60) + "/" + strings.Repeat("f", 90)
	entries := []entry{
		{"release-manifests", "", tar.TypeDir, 0777, time.Unix(0, 0), ""},
		{"release-manifests/" + strings.Repeat("a", 95), "", tar.TypeReg, 0444, time.Unix(1700000000, 0), "x"},
		{"release-manifests/" + strings.Repeat("b", 120), "", tar.TypeReg, 0444, time.Unix(1700000000, 600000000), "yy"},
		{"release-manifests/caf\u00e9.yaml", "", tar.TypeReg, 0444, time.Unix(5, 499999999), "z"},
		{long, "", tar.TypeReg, 0644, time.Unix(1, 0), ""},
		{"link", strings.Repeat("t", 101), tar.TypeSymlink, 0777, time.Unix(2, 0), ""},
		{"r\u00e9p/" + strings.Repeat("n", 100) + "/", "", tar.TypeDir, 0755, time.Unix(3, 0), ""},
		{"old", "", tar.TypeReg, 0644, time.Unix(-1, 0), "q"},
		{"future", "", tar.TypeReg, 0644, time.Unix(1<<34, 0), "q"},
	}
	for _, e := range entries {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, ModTime: e.mtime, Size: int64(len(e.data))}
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
		tw.Write([]byte(e.data))
		tw.Close()
		fmt.Printf("%x %d %q\n", sha256.Sum256(buf.Bytes()), buf.Len(), e.name)
	}
}
