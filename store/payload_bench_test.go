package store

import "testing"

func BenchmarkReadPayload(b *testing.B) {
	docs := candidateDocuments(b, 100)
	for i := 0; b.Loop(); i++ {
		if _, _, err := readPayload(docs[i%len(docs)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReferencePayload(b *testing.B) {
	docs := candidateDocuments(b, 100)
	for i := 0; b.Loop(); i++ {
		if _, _, err := referencePayload(docs[i%len(docs)]); err != nil {
			b.Fatal(err)
		}
	}
}
