package http

// consoleRoutesKeys registers the console's keys pages.
func (s *Server) consoleRoutesKeys() {}
