package main

import (
	"context"
	"fmt"

	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/templates"
)

// installCRM applies the CRM template bundle to a tenant that has no schema
// yet; a tenant with one is left alone.
func installCRM(ctx context.Context, cat *catalog.Catalog, tenantID, actor string) error {
	m, err := cat.Model(ctx, tenantID)
	if err != nil {
		return err
	}
	if m.Version > 0 {
		return nil
	}
	b, err := cat.Validator().ParseBundle(templates.CRM())
	if err != nil {
		return fmt.Errorf("CRM template: %w", err)
	}
	_, err = cat.Apply(ctx, tenantID, catalog.ApplyRequest{Bundle: b, Message: "CRM template", Actor: actor})
	if err != nil {
		return fmt.Errorf("install CRM template: %w", err)
	}
	return nil
}
