// Package types is Kusto's scalar type system: the ten types, their names and
// aliases, and how each one is stored in DuckDB and reported on the wire.
//
// It is a leaf package: the KQL compiler, the storage layer, ingestion and the
// REST encoder all agree on types through it.
package types

import (
	"fmt"
	"strings"
)

// Type is a Kusto scalar type. The zero value is Invalid.
type Type uint8

const (
	Invalid Type = iota
	Bool
	Int
	Long
	Real
	Decimal
	DateTime
	TimeSpan
	String
	Guid
	Dynamic
)

// All lists the valid types in Kusto's documentation order.
var All = []Type{Bool, DateTime, Decimal, Dynamic, Guid, Int, Long, Real, String, TimeSpan}

var names = [...]string{
	Invalid:  "invalid",
	Bool:     "bool",
	Int:      "int",
	Long:     "long",
	Real:     "real",
	Decimal:  "decimal",
	DateTime: "datetime",
	TimeSpan: "timespan",
	String:   "string",
	Guid:     "guid",
	Dynamic:  "dynamic",
}

// String returns the canonical Kusto name (`long`, `datetime`, ...).
func (t Type) String() string {
	if int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("Type(%d)", t)
}

// aliases maps every spelling Kusto accepts in schemas and casts to a type.
var aliases = map[string]Type{
	"bool": Bool, "boolean": Bool,
	"int": Int, "int32": Int,
	"long": Long, "int64": Long,
	"real": Real, "double": Real,
	"decimal":  Decimal,
	"datetime": DateTime, "date": DateTime,
	"timespan": TimeSpan, "time": TimeSpan,
	"string": String,
	"guid":   Guid, "uniqueid": Guid,
	"dynamic": Dynamic,
	// .NET names, as they appear in `.show table T schema as json` and v1 frames.
	"system.boolean": Bool, "system.sbyte": Bool, "system.int32": Int, "system.int64": Long,
	"system.double": Real, "system.data.sqltypes.sqldecimal": Decimal, "system.decimal": Decimal,
	"system.datetime": DateTime, "system.timespan": TimeSpan, "system.string": String,
	"system.guid": Guid, "system.object": Dynamic,
}

// Parse resolves a type name or alias, case-insensitively.
func Parse(name string) (Type, bool) {
	t, ok := aliases[strings.ToLower(strings.TrimSpace(name))]
	return t, ok
}

// DuckDB is the DuckDB column type that stores values of t.
//
// datetime and timespan are BIGINT counts of 100 ns ticks (datetime's since
// 0001-01-01, see ticks.go): DuckDB's TIMESTAMP_NS covers only 1677..2262 and
// its INTERVAL cannot hold sub-microsecond durations, while integer
// arithmetic on ticks is what Kusto itself does.
func (t Type) DuckDB() string {
	switch t {
	case Bool:
		return "BOOLEAN"
	case Int:
		return "INTEGER"
	case Long:
		return "BIGINT"
	case Real:
		return "DOUBLE"
	case Decimal:
		return "DECIMAL(38,10)"
	case DateTime, TimeSpan:
		return "BIGINT"
	case String:
		return "VARCHAR"
	case Guid:
		return "UUID"
	case Dynamic:
		return "JSON"
	}
	return "VARCHAR"
}

// DotNet is the CLR type name Kusto reports as `DataType` in v1 frames and
// in schema JSON (`System.Int64`, ...), without the `System.` prefix.
func (t Type) DotNet() string {
	switch t {
	case Bool:
		return "Boolean"
	case Int:
		return "Int32"
	case Long:
		return "Int64"
	case Real:
		return "Double"
	case Decimal:
		return "Decimal"
	case DateTime:
		return "DateTime"
	case TimeSpan:
		return "TimeSpan"
	case String:
		return "String"
	case Guid:
		return "Guid"
	case Dynamic:
		return "Object"
	}
	return "Object"
}

// Numeric reports whether t is int, long, real or decimal.
func (t Type) Numeric() bool { return t == Int || t == Long || t == Real || t == Decimal }

// Ticks per unit: Kusto's datetime and timespan resolution is 100 ns.
const (
	TicksPerMicrosecond int64 = 10
	TicksPerMillisecond int64 = 10_000
	TicksPerSecond      int64 = 10_000_000
	TicksPerMinute            = 60 * TicksPerSecond
	TicksPerHour              = 60 * TicksPerMinute
	TicksPerDay               = 24 * TicksPerHour
)
