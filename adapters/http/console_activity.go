package http

// consoleRoutesActivity registers the console's activity pages.
func (s *Server) consoleRoutesActivity() {}
