package scim

// Discovery (RFC 7644 section 4): what this server supports, exactly.

// ServiceProviderConfig describes the supported features.
func (s *Service) ServiceProviderConfig() map[string]any {
	return map[string]any{
		"schemas":        []string{SchemaSPC},
		"patch":          map[string]any{"supported": true},
		"bulk":           map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":         map[string]any{"supported": true, "maxResults": s.cfg.MaxResults},
		"changePassword": map[string]any{"supported": false},
		"sort":           map[string]any{"supported": false},
		"etag":           map[string]any{"supported": true},
		"authenticationSchemes": []map[string]any{{
			"type":        "oauthbearertoken",
			"name":        "SCIM bearer token",
			"description": "A per-organization token (cst_...) made through the admin API, sent as Authorization: Bearer.",
			"primary":     true,
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": s.Root() + "/ServiceProviderConfig"},
	}
}

// ResourceTypes lists User and Group.
func (s *Service) ResourceTypes() []map[string]any {
	return []map[string]any{s.resourceType("User"), s.resourceType("Group")}
}

// ResourceType returns one resource type, or nil.
func (s *Service) ResourceType(name string) map[string]any {
	if name != "User" && name != "Group" {
		return nil
	}
	return s.resourceType(name)
}

func (s *Service) resourceType(name string) map[string]any {
	rt := map[string]any{
		"schemas":  []string{SchemaResType},
		"id":       name,
		"name":     name,
		"endpoint": "/" + name + "s",
		"meta":     map[string]any{"resourceType": "ResourceType", "location": s.Root() + "/ResourceTypes/" + name},
	}
	if name == "User" {
		rt["description"] = "A Calimatic account in the token's organization"
		rt["schema"] = SchemaUser
		rt["schemaExtensions"] = []map[string]any{{"schema": SchemaEnterprise, "required": false}}
	} else {
		rt["description"] = "A role of the token's organization"
		rt["schema"] = SchemaGroup
	}
	return rt
}

// attr describes one attribute in a schema.
func attr(name, typ, desc string, opts ...func(map[string]any)) map[string]any {
	a := map[string]any{
		"name": name, "type": typ, "multiValued": false, "description": desc, "required": false,
		"caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

func required(a map[string]any)  { a["required"] = true }
func caseExact(a map[string]any) { a["caseExact"] = true }
func multi(a map[string]any)     { a["multiValued"] = true }
func readOnlyAttr(a map[string]any) {
	a["mutability"] = "readOnly"
}
func unique(a map[string]any) { a["uniqueness"] = "server" }
func subs(s ...map[string]any) func(map[string]any) {
	return func(a map[string]any) { a["subAttributes"] = s }
}

func valueSubs(valueDesc string) func(map[string]any) {
	return subs(
		attr("value", "string", valueDesc),
		attr("display", "string", "A label to show"),
		attr("type", "string", "A label such as work or mobile"),
		attr("primary", "boolean", "The preferred value"),
	)
}

// Schemas lists the schemas, with only the attributes this server keeps.
func (s *Service) Schemas() []map[string]any {
	return []map[string]any{s.userSchema(), s.enterpriseSchema(), s.groupSchema()}
}

// Schema returns one schema by URN, or nil.
func (s *Service) Schema(id string) map[string]any {
	for _, sc := range s.Schemas() {
		if sc["id"] == id {
			return sc
		}
	}
	return nil
}

func (s *Service) schema(id, name, desc string, attrs ...map[string]any) map[string]any {
	return map[string]any{
		"schemas": []string{SchemaSchema}, "id": id, "name": name, "description": desc,
		"attributes": attrs,
		"meta":       map[string]any{"resourceType": "Schema", "location": s.Root() + "/Schemas/" + id},
	}
}

func (s *Service) userSchema() map[string]any {
	str := func(name, desc string) map[string]any { return attr(name, "string", desc) }
	return s.schema(SchemaUser, "User", "A member of the organization: its own name for them, the account, and its own profile",
		attr("userName", "string", "The organization's name for the member, kept as sent and unique in it, case-insensitively; "+
			"with the token's user_name rule, also the sign-in email", required, unique),
		attr("name", "complex", "The user's names", subs(
			str("givenName", "Given name (the account's)"),
			str("familyName", "Family name (the account's)"),
			str("formatted", "The full name as the organization writes it"),
			str("middleName", "Middle name"),
			str("honorificPrefix", "Honorific prefix, such as Ms."),
			str("honorificSuffix", "Honorific suffix, such as III"),
		)),
		str("displayName", "Name to show; this organization's own"),
		str("nickName", "Casual name"),
		attr("profileUrl", "reference", "A page about the user"),
		str("title", "Job title"),
		str("userType", "The organization's kind of user, such as Employee"),
		str("preferredLanguage", "Preferred language (RFC 7231 Accept-Language form)"),
		str("locale", "Locale, such as en-GB"),
		str("timezone", "Time zone, such as Europe/London"),
		attr("active", "boolean", "false suspends the member (the account too, in its home organization); true reactivates"),
		attr("password", "string", "Accepted and not stored; the user sets their own", func(a map[string]any) {
			a["mutability"], a["returned"] = "writeOnly", "never"
		}),
		attr("externalId", "string", "The provider's id for the user; this organization's own", caseExact),
		attr("emails", "complex", "Email addresses, as sent; with the token's primary_email rule the primary "+
			"(else work, else first) one is the sign-in email", multi, valueSubs("An email address")),
		attr("phoneNumbers", "complex", "Phone numbers", multi, valueSubs("A phone number")),
		attr("ims", "complex", "Instant messaging addresses", multi, valueSubs("An address")),
		attr("photos", "complex", "Pictures of the user", multi, valueSubs("A URL")),
		attr("addresses", "complex", "Physical addresses", multi, subs(
			str("formatted", "The full address"), str("streetAddress", "Street"), str("locality", "City"),
			str("region", "State or region"), str("postalCode", "Postal code"), str("country", "Country (ISO 3166-1 alpha-2)"),
			str("type", "work, home or other"), attr("primary", "boolean", "The preferred address"),
		)),
		attr("entitlements", "complex", "Entitlements", multi, valueSubs("An entitlement")),
		attr("roles", "complex", "The provider's roles for the user (not Calimatic roles: see groups)", multi, valueSubs("A role")),
		attr("x509Certificates", "complex", "Certificates", multi, valueSubs("A DER certificate, base64")),
		attr("groups", "complex", "The user's role in this organization", multi, readOnlyAttr, subs(
			attr("value", "string", "The group's id", readOnlyAttr),
			attr("display", "string", "The group's name", readOnlyAttr),
		)),
	)
}

func (s *Service) enterpriseSchema() map[string]any {
	return s.schema(SchemaEnterprise, "EnterpriseUser", "Enterprise attributes; this organization's own",
		attr("employeeNumber", "string", "Employee number"),
		attr("costCenter", "string", "Cost center"),
		attr("organization", "string", "Organization"),
		attr("division", "string", "Division"),
		attr("department", "string", "Department"),
		attr("manager", "complex", "The user's manager", subs(
			attr("value", "string", "The manager's id", caseExact),
			attr("displayName", "string", "The manager's name"),
		)),
	)
}

func (s *Service) groupSchema() map[string]any {
	return s.schema(SchemaGroup, "Group", "A role of the organization",
		attr("displayName", "string", "The role's name; set at creation", required, unique),
		attr("members", "complex", "The users holding the role", multi, subs(
			attr("value", "string", "A user's id", caseExact),
			attr("display", "string", "The user's userName", readOnlyAttr),
		)),
	)
}
