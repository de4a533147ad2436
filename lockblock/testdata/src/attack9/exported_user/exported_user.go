// Package exported_user: another package sends into the exported field.
package exported_user

import "attack9/exported"

func Fill(c *exported.C) { c.Wake <- 1 } // want Fill:`mayBlock\(channel send`
