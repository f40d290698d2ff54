package webhooks

import (
	"errors"
	"fmt"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// storeErr passes outages through (the edge answers 503) and wraps the rest.
func storeErr(op string, err error) error {
	if errors.Is(err, domain.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
