package campaign

import "fmt"

func fmtPos(file string, line, col int) string {
	if line <= 0 {
		return file
	}
	if col <= 0 {
		col = 1
	}
	return fmt.Sprintf("%s:%d:%d", file, line, col)
}
