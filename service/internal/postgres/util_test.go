package postgres

import (
	"os"
	"path/filepath"
	"strings"
)

var (
	filepathGlob = filepath.Glob
	readFile     = os.ReadFile
	contains     = strings.Contains
)
