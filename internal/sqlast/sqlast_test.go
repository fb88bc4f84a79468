package sqlast

import (
	"reflect"
	"testing"
)

func TestPrintQuotesIdentifiersAndBindsValues(t *testing.T) {
	q := &Select{
		Items:   []SelectItem{{X: &Col{Name: `we"ird`}, Alias: "a b"}, {X: &Call{Name: "count", Args: []Expr{Keyword("*")}, Filter: &Bin{Op: ">", L: &Col{Name: "x"}, R: &Param{Value: int64(3), Type: "BIGINT"}}}}},
		From:    &Table{SQL: `"db"."T"`, Alias: "t"},
		Where:   &Bin{Op: "=", L: &Col{Table: "t", Name: "s"}, R: &Param{Value: "O'Brien", Type: "VARCHAR"}},
		GroupBy: []Expr{Int(1)},
		OrderBy: []OrderItem{{X: &Col{Name: "x"}, Desc: true}},
		Limit:   &Param{Value: "2020-01-01", Type: "TIMESTAMP_NS"},
	}
	sql, args := Print(q)
	want := `SELECT "we""ird" AS "a b", count(*) FILTER (WHERE ("x" > ?)) FROM "db"."T" AS "t" WHERE ("t"."s" = ?) GROUP BY 1 ORDER BY "x" DESC NULLS LAST LIMIT CAST(? AS TIMESTAMP_NS)`
	if sql != want {
		t.Fatalf("got\n%s\nwant\n%s", sql, want)
	}
	if !reflect.DeepEqual(args, []any{int64(3), "O'Brien", "2020-01-01"}) {
		t.Fatalf("args %#v", args)
	}
}

func TestTemplateArgumentsInOrder(t *testing.T) {
	e := &Template{Fmt: "CASE WHEN {} THEN {} END", Args: []Expr{&Param{Value: true, Type: "BOOLEAN"}, &Param{Value: "x", Type: "VARCHAR"}}}
	sql, args := PrintExpr(e)
	if sql != "CASE WHEN ? THEN ? END" || !reflect.DeepEqual(args, []any{true, "x"}) {
		t.Fatalf("%s %#v", sql, args)
	}
}
