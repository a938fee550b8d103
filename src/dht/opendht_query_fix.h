// dht/opendht_query_fix.h — OpenDHT 2.4.12's id queries made to report every answer.
//
// The bug: `Dht::query` drops each answer whose fields are `FieldValueIndex::containedIn` one
// it holds, and the library's containedIn compares only the field names (src/value.cpp), so an
// id query keeps the ids of its first answer and drops every later one (docs/notes/dht.md "The
// id query keeps one answer"; bench/scale/id_query_probe shows it with plain OpenDHT).
//
// Promise:
//  * opendht_query_fix.cpp defines `dht::FieldValueIndex::containedIn` with the values
//    compared too. libopendht.so.2 calls that function through its PLT (it is used only in
//    `Dht::query`), so in a process whose executable links this file the library's own filter
//    uses this definition: an id query reports the ids of every answer.
//  * opendht_query_filter_fixed() tells whether that holds in this process: the definition the
//    dynamic linker binds is not libopendht's, and two indexes that differ only in a value are
//    not contained in each other. OpenDht::start() calls it, which also keeps this file in
//    every link that uses OpenDht, and logs an error when it does not hold.
#pragma once

namespace beemesh::dht {

bool opendht_query_filter_fixed();

}  // namespace beemesh::dht
