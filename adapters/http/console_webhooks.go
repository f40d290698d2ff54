package http

// consoleRoutesWebhook registers the console's webhooks pages.
func (s *Server) consoleRoutesWebhook() {}
