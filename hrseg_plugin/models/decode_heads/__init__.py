from .ocr_head import OCRHead

__all__ = ['OCRHead']
