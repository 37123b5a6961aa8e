-- AlterEnum
ALTER TYPE "AnnotationSource" ADD VALUE 'UNSURE';
