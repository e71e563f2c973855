// Command crop cuts a band out of a PNG: crop IN OUT Y HEIGHT. The docs'
// screenshots are bands of one full-page Chromium capture (scripts/screenshots.sh).
package main

import (
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"strconv"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "crop:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("usage: crop IN.png OUT.png Y HEIGHT")
	}
	y, err1 := strconv.Atoi(args[2])
	h, err2 := strconv.Atoi(args[3])
	if err1 != nil || err2 != nil || y < 0 || h <= 0 {
		return fmt.Errorf("Y and HEIGHT must be pixel counts, got %q %q", args[2], args[3])
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	b := img.Bounds()
	if y >= b.Max.Y {
		return fmt.Errorf("%s is %d pixels high; Y %d is below it", args[0], b.Max.Y, y)
	}
	r := image.Rect(0, 0, b.Max.X, min(h, b.Max.Y-y))
	dst := image.NewRGBA(r)
	draw.Draw(dst, r, img, image.Pt(0, y), draw.Src)
	out, err := os.Create(args[1])
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(out, dst); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
