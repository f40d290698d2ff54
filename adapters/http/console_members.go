package http

// consoleRoutesMember registers the console's members pages.
func (s *Server) consoleRoutesMember() {}
