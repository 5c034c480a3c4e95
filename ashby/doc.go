// Package ashby is Ashby's API wire model: the object shapes, enums,
// permission names and error codes that Ashby's public API uses.
//
// Both the Ashlar server and its Go client speak in these types, so a
// field renamed here is renamed on the wire for both sides at once.
package ashby
