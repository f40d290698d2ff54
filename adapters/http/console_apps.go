package http

// consoleRoutesApp registers the console's apps pages.
func (s *Server) consoleRoutesApp() {}
