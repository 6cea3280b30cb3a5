// Package codegen is a signature-only stand-in for pulumi-yaml's program code generation (see
// scripts/engine/codegen_stubs/README.md). The pulumi-random provider never generates YAML programs.
package codegen

import (
	"errors"

	"github.com/hashicorp/hcl/v2"
	"github.com/pulumi/pulumi/pkg/v3/codegen/pcl"
)

// GenerateProgram is not implemented by this stand-in.
func GenerateProgram(_ *pcl.Program) (map[string][]byte, hcl.Diagnostics, error) {
	return nil, nil, errors.New("YAML program generation is not available (llm-platform codegen stand-in)")
}
